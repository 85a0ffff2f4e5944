// The web demo: an lth ticket run by @lth/sparse-runtime (only the surviving weights, no
// TensorFlow.js) beside the dense network run by TensorFlow.js, on MNIST test digits and on a
// digit drawn on the canvas. Built by build.mjs; everything is served from this folder.
import { SparseModel } from './vendor/sparse-runtime/index.js';

const $ = (id) => document.getElementById(id);
const bytesOf = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function main() {
  const [ticketBytes, digits, denseJson, denseWeights] = await Promise.all([
    bytesOf('ticket/model.lthsparse'),
    fetch('digits.json').then((r) => r.json()),
    bytesOf('dense/model.json'),
    fetch('dense/model.json').then((r) => r.json()).then((m) => Promise.all(m.weightsManifest.flatMap((g) => g.paths).map((p) => bytesOf(`dense/${p}`)))),
  ]);
  const ticket = SparseModel.read(ticketBytes);
  // TF.js's backend for the dense network: ?backend=wasm (the default), cpu or webgl.
  const backend = new URLSearchParams(location.search).get('backend') ?? 'wasm';
  if (backend === 'wasm') tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} is not available in this browser`);
  const dense = await tf.loadLayersModel('dense/model.json');
  const { count, size, labels, x } = digits;
  const inputs = Float32Array.from(x);
  const one = (i) => inputs.subarray(i * size, (i + 1) * size);

  const models = [
    {
      id: 'ticket',
      name: 'ticket (lth sparse runtime)',
      stored: Object.values(ticket.storedWeights()).reduce((a, b) => a + b, 0),
      bytes: ticketBytes.length,
      classify: (input) => ticket.classify(input, 1)[0],
    },
    {
      id: 'dense',
      name: `dense network (TensorFlow.js, ${tf.getBackend()})`,
      stored: dense.countParams(),
      bytes: denseJson.length + denseWeights.reduce((a, w) => a + w.length, 0),
      classify: (input) => tf.tidy(() => dense.predict(tf.tensor(input, [1, ...digits.inputShape])).argMax(-1).dataSync()[0]),
    },
  ];
  const results = {};
  for (const m of models) {
    m.classify(one(0)); // warm up
    // Timed over all the digits, one at a time (browsers coarsen performance.now() to 0.1 ms).
    const predictions = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) predictions.push(m.classify(one(i)));
    const msPerDigit = (performance.now() - t0) / count;
    const correct = predictions.filter((p, i) => p === labels[i]).length;
    results[m.id] = { predictions, accuracy: correct / count, stored: m.stored, bytes: m.bytes, msPerDigit };
    $('results').tBodies[0].insertAdjacentHTML(
      'beforeend',
      `<tr id="row-${m.id}"><td>${m.name}</td><td>${m.stored.toLocaleString('en')}</td><td>${kb(m.bytes)}</td>` +
        `<td>${((100 * correct) / count).toFixed(1)} %</td><td>${msPerDigit.toFixed(3)} ms</td></tr>`,
    );
  }
  $('n').textContent = String(count);
  const meta = ticket.metadata;
  $('about').textContent = `The ticket: ${String(meta.run ?? 'a run').split('/').pop()}, level ${meta.level}, ${(100 * meta.fractionRemaining).toFixed(1)} % of the weights remaining.`;

  // The test digits, framed red where the ticket is wrong.
  for (let i = 0; i < count; i++) {
    const c = document.createElement('canvas');
    [c.width, c.height] = [28, 28];
    const img = c.getContext('2d').createImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const v = Math.round((one(i)[p] - digits.pixel.offset) / digits.pixel.scale);
      img.data.set([v, v, v, 255], 4 * p);
    }
    c.getContext('2d').putImageData(img, 0, 0);
    c.title = `label ${labels[i]}, ticket ${results.ticket.predictions[i]}, dense ${results.dense.predictions[i]}`;
    if (results.ticket.predictions[i] !== labels[i]) c.className = 'wrong';
    $('digits').append(c);
  }

  // Drawing: white strokes on black, read back at 28×28 as MNIST's pixels, mapped like lth's inputs.
  const pad = $('pad');
  const pen = pad.getContext('2d');
  const clear = () => {
    pen.fillStyle = '#000';
    pen.fillRect(0, 0, pad.width, pad.height);
  };
  const small = document.createElement('canvas');
  [small.width, small.height] = [28, 28];
  const classifyPad = () => {
    const s = small.getContext('2d', { willReadFrequently: true });
    s.drawImage(pad, 0, 0, 28, 28);
    const rgba = s.getImageData(0, 0, 28, 28).data;
    const input = new Float32Array(784);
    for (let p = 0; p < 784; p++) input[p] = rgba[4 * p] * digits.pixel.scale + digits.pixel.offset;
    for (const m of models) $(`predict-${m.id}`).textContent = String(m.classify(input));
  };
  clear();
  let drawing = false;
  const at = (e) => [e.offsetX, e.offsetY];
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    pen.beginPath();
    pen.moveTo(...at(e));
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    Object.assign(pen, { strokeStyle: '#fff', lineWidth: 20, lineCap: 'round', lineJoin: 'round' });
    pen.lineTo(...at(e));
    pen.stroke();
  });
  addEventListener('pointerup', () => {
    if (drawing) classifyPad();
    drawing = false;
  });
  $('clear').addEventListener('click', () => {
    clear();
    for (const m of models) $(`predict-${m.id}`).textContent = '–';
  });

  $('status').textContent = 'Ready: both models classified the test digits; draw a digit below.';
  // For tests and the curious: the numbers in the table, and a way to classify any input.
  window.demo = { results, classify: (input) => Object.fromEntries(models.map((m) => [m.id, m.classify(Float32Array.from(input))])), digits };
}

main().catch((error) => {
  $('status').textContent = `Error: ${error.message}`;
  throw error;
});
