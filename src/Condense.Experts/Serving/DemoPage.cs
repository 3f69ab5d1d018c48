// The demo page `condense serve` serves at /, like the paper's demo: pick a slice, mark a point or an area, ask, and
// see the model's first reply, the expert it called, the expert's overlay and the final answer (streamed). URL
// parameters (?plane=&slice=&point=i,j,k&q=...&ask=1) pre-fill it and ask at once, for links and headless screenshots.
namespace Condense.Experts.Serving;

/// <summary>The page's HTML (self-contained: no external scripts, styles or fonts).</summary>
public static class DemoPage
{
    /// <summary>The page.</summary>
    public const string Html = """
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Condense VILA-M3 demo</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 16px; background: #f6f7f9; color: #1d2330; }
 h1 { font-size: 20px; margin: 0 0 12px; }
 .row { display: flex; gap: 16px; align-items: flex-start; }
 .panel { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 12px; }
 canvas, img.big { width: 320px; height: 320px; image-rendering: pixelated; border: 1px solid #999; cursor: crosshair; }
 label { display: block; margin: 6px 0 2px; font-size: 13px; color: #555; }
 select, input[type=text] { width: 320px; }
 button { margin-top: 10px; padding: 6px 16px; }
 .turn { margin: 6px 0; font-family: ui-monospace, monospace; font-size: 13px; white-space: pre-wrap; }
 .who { font-weight: bold; color: #2a5db0; }
 #answer { font-size: 18px; font-weight: bold; color: #0b7a35; }
 .error { color: #b00020; }
</style>
</head>
<body>
<h1>Condense · VILA-M3 on the Colin27 brain MRI</h1>
<div class="row">
 <div class="panel">
  <canvas id="slice" width="64" height="64"></canvas>
  <label>Plane</label>
  <select id="plane"><option>axial</option><option>coronal</option><option>sagittal</option></select>
  <label>Slice <span id="sliceText"></span></label>
  <input id="sliceIndex" type="range" min="0" max="180" value="90" style="width:320px">
  <label>A click marks</label>
  <select id="mark"><option value="point">a point</option><option value="area">an area</option></select>
  <div id="voxel" class="turn"></div>
 </div>
 <div class="panel" style="width:420px">
  <label>Question</label>
  <select id="preset">
   <option>Which region lies at the marked point?</option>
   <option>Which hemisphere is the marked point in?</option>
   <option>How many distinct regions does the marked area cross?</option>
   <option>Is this an axial or a coronal slice?</option>
   <option>Is Precentral_L present in this slice?</option>
   <option>Which of these regions is largest here: Precentral_L, Insula_L or Caudate_L?</option>
  </select>
  <input id="question" type="text" placeholder="or type a question">
  <label><input id="experts" type="checkbox" checked> offer the expert models</label>
  <button id="ask">Ask</button>
  <div class="turn"><span class="who">VLM:</span> <span id="first"></span></div>
  <div class="turn"><span class="who">Expert:</span> <span id="expert"></span></div>
  <img id="overlay" class="big" alt="" style="display:none">
  <div class="turn"><span class="who">Answer:</span> <span id="answer"></span></div>
 </div>
</div>
<script>
const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);
let marker = null;
function voxelText() { return marker ? marker.kind + ' at voxel [' + marker.voxel.join(', ') + ']' : 'nothing marked (click the slice)'; }
async function loadSlice() {
  const q = new URLSearchParams({ plane: $('plane').value, slice: $('sliceIndex').value });
  if (marker) q.set(marker.kind, marker.voxel.join(','));
  const r = await fetch('/api/slice?' + q);
  const body = await r.json();
  if (!r.ok) { $('voxel').textContent = body.error.message; $('voxel').className = 'turn error'; return; }
  $('sliceIndex').max = body.slices - 1;
  $('sliceText').textContent = body.slice + ' of ' + (body.slices - 1);
  const img = new Image();
  img.onload = () => { const c = $('slice'); c.width = body.pixels; c.height = body.pixels; c.getContext('2d').drawImage(img, 0, 0); };
  img.src = body.image;
  $('voxel').textContent = voxelText();
}
$('slice').addEventListener('click', async e => {
  const c = $('slice'), rect = c.getBoundingClientRect();
  const u = Math.floor((e.clientX - rect.left) / rect.width * c.width), v = Math.floor((e.clientY - rect.top) / rect.height * c.height);
  const r = await fetch('/api/pick?' + new URLSearchParams({ plane: $('plane').value, slice: $('sliceIndex').value, u, v }));
  const body = await r.json();
  if (r.ok) { marker = { kind: $('mark').value, voxel: body.voxel }; loadSlice(); }
});
$('plane').addEventListener('change', () => { marker = null; loadSlice(); });
$('sliceIndex').addEventListener('input', () => { marker = null; loadSlice(); });
async function ask() {
  for (const id of ['first', 'expert', 'answer']) $(id).textContent = '';
  $('overlay').style.display = 'none';
  $('answer').className = '';
  const text = $('question').value.trim() || $('preset').value;
  const condense = { plane: $('plane').value, slice: Number($('sliceIndex').value), experts: $('experts').checked };
  if (marker) condense[marker.kind] = marker.voxel;
  const r = await fetch('/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'condense-vila-m3', stream: true, condense, messages: [{ role: 'user', content: [{ type: 'text', text }] }] })
  });
  if (!r.ok) { const body = await r.json(); $('answer').textContent = body.error.message; $('answer').className = 'error'; document.title = 'done'; return; }
  const reader = r.body.getReader(), decoder = new TextDecoder();
  let buffer = '', target = 'first';
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const line = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const chunk = JSON.parse(line.slice(6));
      const delta = chunk.choices[0].delta.content;
      if (delta) {
        if (delta.startsWith('\n')) target = 'answer';
        $(target).textContent += delta.replace(/^\n/, '');
      }
      if (chunk.condense) {
        const x = chunk.condense;
        $('first').textContent = x.first_reply;
        $('expert').textContent = x.error ? x.error : (x.expert || (x.trigger ? '' : 'not called'));
        if (x.expert_overlay) { $('overlay').src = x.expert_overlay; $('overlay').style.display = 'block'; }
        if (chunk.choices[0].finish_reason) $('answer').textContent = x.answer || '(an empty reply)';
        if (x.error) $('answer').className = 'error';
      }
    }
  }
  document.title = 'done';
}
$('ask').addEventListener('click', ask);
(async () => {
  if (params.get('plane')) $('plane').value = params.get('plane');
  if (params.get('slice')) $('sliceIndex').value = params.get('slice');
  for (const kind of ['point', 'area'])
    if (params.get(kind)) { marker = { kind, voxel: params.get(kind).split(',').map(Number) }; $('mark').value = kind; }
  if (params.get('q')) $('question').value = params.get('q');
  if (params.get('experts') === '0') $('experts').checked = false;
  await loadSlice();
  if (params.get('ask') === '1') await ask();
})();
</script>
</body>
</html>
""";
}
