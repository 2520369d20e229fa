// Live steps on the status page: appends each real timeline event as it arrives (server-sent events).
(function () {
  "use strict";
  var list = document.getElementById("steps");
  if (!list || !window.EventSource) { return; }
  var source = new EventSource(list.getAttribute("data-events"));
  source.onmessage = function (msg) {
    var step;
    try { step = JSON.parse(msg.data); } catch (e) { return; }
    var li = document.createElement("li");
    li.className = "step actor-" + step.actor;
    var who = document.createElement("span"); who.className = "who"; who.textContent = step.who;
    var label = document.createElement("span"); label.className = "label"; label.textContent = " " + step.label + " ";
    var time = document.createElement("time"); time.setAttribute("datetime", step.at);
    time.textContent = step.when; // formatted by the server in the operator's zone
    li.appendChild(who); li.appendChild(label); li.appendChild(time);
    if (step.details && step.details.length) { // what was checked, worded by the server
      var ul = document.createElement("ul"); ul.className = "checked";
      step.details.forEach(function (d) {
        var item = document.createElement("li"); item.textContent = d; ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    list.appendChild(li);
  };
})();
