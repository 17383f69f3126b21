// Prepare a page with saved ipywidgets for the ipywidgets HTML manager 1.x (embed-amd.js),
// which the book serves from _static/html-manager/. Load this file before embed-amd.js.
(function () {
  // The manager is an AMD module named after its npm path, and it loads its fonts and
  // icons relative to where require.js resolves that name: by default a folder
  // "@jupyter-widgets/html-manager/dist/" beside the page. Map the name to the book's copy.
  var managerFolder = new URL("html-manager/", document.currentScript.src).href;
  window.__jupyter_widgets_assets_path__ = managerFolder;
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": managerFolder.replace(/\/$/, "") } });

  // The manager typesets widget labels with MathJax 2's MathJax.Hub.Queue, which MathJax 3
  // lacks. MathJax 3 is loaded with `defer`, so it exists by DOMContentLoaded, and the
  // manager draws the widgets later, on the window's load event.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) {
      return;
    }
    mathjax.Hub = {
      Queue: function (command) {
        var element = command[2];
        mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise([element]);
        });
      },
    };
  });
})();
