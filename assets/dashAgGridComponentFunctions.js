// Cell renderers of the catalog table (dash-ag-grid looks them up by name).
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

// The item's thumbnail: only an item id (16 hex digits) is ever put into the image address.
dagcomponentfuncs.ItemThumb = function (props) {
  var id = String(props.value || "");
  if (!/^[0-9a-f]{16}$/.test(id)) { return null; }
  return React.createElement("img", {src: "/img/thumb/" + id, className: "grid-thumb", alt: "", loading: "lazy"});
};
