// Drag and drop of a board's pieces (HTML5 drag events, no library). On drop the new order of
// item ids is written into the board-order store; a server callback checks and saves it and
// redraws the pieces. The DOM is never rearranged here: React keeps owning it.
(function () {
  "use strict";
  var STORE = "board-order";
  var dragged = null;

  function pieceOf(el) {
    return el && el.closest ? el.closest(".board-piece.editable") : null;
  }
  function clearMarks() {
    document.querySelectorAll(".board-piece.drop-before, .board-piece.drop-after").forEach(function (p) {
      p.classList.remove("drop-before", "drop-after");
    });
  }
  function after(target, event) {
    var r = target.getBoundingClientRect();
    // pieces flow in rows: the right half of a piece means "after it"
    return event.clientX > r.left + r.width / 2;
  }

  document.addEventListener("dragstart", function (e) {
    var p = pieceOf(e.target);
    if (!p) { return; }
    dragged = p;
    p.classList.add("dragging");
    if (e.dataTransfer) {
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", p.getAttribute("data-item"));
    }
  });
  document.addEventListener("dragover", function (e) {
    var p = pieceOf(e.target);
    if (!dragged || !p || p.parentElement !== dragged.parentElement) { return; }
    e.preventDefault();
    clearMarks();
    if (p !== dragged) { p.classList.add(after(p, e) ? "drop-after" : "drop-before"); }
  });
  document.addEventListener("drop", function (e) {
    var p = pieceOf(e.target);
    if (!dragged || !p || p.parentElement !== dragged.parentElement) { return; }
    e.preventDefault();
    var moving = dragged.getAttribute("data-item");
    var target = p.getAttribute("data-item");
    var order = Array.prototype.map.call(p.parentElement.querySelectorAll(".board-piece"), function (x) {
      return x.getAttribute("data-item");
    }).filter(function (id) { return id !== moving; });
    if (moving !== target) {
      var at = order.indexOf(target) + (after(p, e) ? 1 : 0);
      order.splice(at, 0, moving);
      if (window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(STORE, {data: {order: order, t: Date.now()}});
      }
    }
    clearMarks();
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clearMarks();
  });
})();
