// Cell renderers of the catalog table (dash-ag-grid looks them up by name).
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

// The item's thumbnail: only an item id (16 hex digits) is ever put into the image address, with
// the page's collection (?c=<slug>, checked by the server) as every image link keeps it.
dagcomponentfuncs.ItemThumb = function (props) {
  var id = String(props.value || "");
  if (!/^[0-9a-f]{16}$/.test(id)) { return null; }
  var c = new URLSearchParams(window.location.search).get("c");
  var src = "/img/thumb/" + id + (c ? "?c=" + encodeURIComponent(c) : "");
  return React.createElement("img", {src: src, className: "grid-thumb", alt: "", loading: "lazy"});
};
