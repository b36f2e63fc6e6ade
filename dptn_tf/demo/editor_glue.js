// The Gradio page's side of the shared joint editor (dptn_tf/web/joint_editor.js): the pose
// lives, as JSON of 18 [y, x] (-1 missing), in the "Target pose" textbox, which the Generate
// button sends; every change in the editor is written there. window.DPTN_SKELETON comes from
// the page (dptn_tf.pose.editor_skeleton).
(() => {
  let editor = null;
  const textbox = () => document.querySelector("#dptn-target-pose textarea");

  function publish(pose) {
    const area = textbox();
    area.value = JSON.stringify(pose);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // A pose from the page: a gallery pose, a photo's, the text typed in the textbox.
  function load(json) {
    const host = document.querySelector("#dptn-joint-editor");
    let pose;
    try {
      pose = JSON.parse(json || "null");
    } catch (error) {
      return;
    }
    if (!host || !Array.isArray(pose) || pose.length !== window.DPTN_SKELETON.names.length) return;
    if (!editor || editor.host !== host) {
      editor = new window.DptnJointEditor(host, window.DPTN_SKELETON, publish);
    }
    if (JSON.stringify(editor.pose()) === JSON.stringify(pose)) return; // its own text back
    editor.load(pose);
  }

  const act = (name) => () => editor && editor[name]();
  window.dptnJointEditor = { load, mirror: act("mirror"), reset: act("reset"),
    undo: act("undo"), redo: act("redo") };
})();
