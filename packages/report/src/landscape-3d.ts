/**
 * The 3D loss surfaces, static and live, from one projection: `surfaceQuads` turns a grid into
 * screen-space quads in the painter's order for a given view. The static chart (SVG/PNG) draws its
 * quads from one fixed view; the report's HTML carries the same function, serialised into the page
 * (`Function.prototype.toString`), and redraws the quads on a canvas as the reader drags. So there
 * is one projection to fix, and the page needs no library beyond vega, which it already inlines (its
 * viridis scheme colours both).
 */

/** Where the eye is: azimuth around the vertical axis and elevation above the (α, β) plane, radians. */
export interface View {
  azimuth: number;
  elevation: number;
}

/** The static chart's view, and where the live view starts: from the front left, above. */
export const DEFAULT_VIEW: View = { azimuth: (-35 * Math.PI) / 180, elevation: (30 * Math.PI) / 180 };

/** One face of the surface on screen: its polygon (closed), mean loss, depth and diffuse light. */
export interface SurfaceQuad {
  polygon: [number, number][];
  loss: number;
  /** Larger is farther from the eye: the quads come sorted by it, farthest first. */
  depth: number;
  /** |cos| of the angle between the face's normal and a light above the eye's left shoulder, in [0, 1]. */
  light: number;
}

/**
 * One surface as screen-space quads, farthest first (the painter's order). x = α and y = β, scaled
 * so the larger |axis| value is 1; height = log10 loss scaled to [0, 1.2] by `logRange` (one range
 * for every panel, so heights compare); rotated by the view's azimuth and tilted by its elevation,
 * then shifted right by `offset` (panels side by side in one static view).
 *
 * This function is also serialised into the report page and run there: it must use only its
 * arguments and JavaScript's globals (no imports, no module constants, no helpers outside it).
 */
export function surfaceQuads(axis: number[], z: number[][], logRange: [number, number], offset: number, view: View): SurfaceQuad[] {
  const [lo, hi] = logRange;
  const extent = Math.max(...axis.map(Math.abs)) || 1;
  const height = (v: number) => (hi > lo ? (Math.log10(v) - lo) / (hi - lo) : 0) * 1.2;
  const a = view.azimuth;
  const e = view.elevation;
  const project = (x: number, y: number, h: number) => {
    const xr = (x * Math.cos(a) - y * Math.sin(a)) / extent;
    const yr = (x * Math.sin(a) + y * Math.cos(a)) / extent;
    return { sx: offset + xr, sy: h * Math.cos(e) + yr * Math.sin(e), depth: yr * Math.cos(e) - h * Math.sin(e) };
  };
  // The light, in view space (x right, y up, depth away from the eye): up, left and towards the eye.
  const lightNorm = Math.hypot(-0.4, 0.7, -1);
  const light = [-0.4 / lightNorm, 0.7 / lightNorm, -1 / lightNorm];
  const quads: SurfaceQuad[] = [];
  for (let r = 0; r + 1 < axis.length; r++) {
    for (let c = 0; c + 1 < axis.length; c++) {
      const corners = [
        [c, r],
        [c + 1, r],
        [c + 1, r + 1],
        [c, r + 1],
      ].map(([i, j]) => project(axis[i!]!, axis[j!]!, height(z[j!]![i!]!)));
      const [p0, p1, p2, p3] = corners as [ReturnType<typeof project>, ReturnType<typeof project>, ReturnType<typeof project>, ReturnType<typeof project>];
      // The normal of a (possibly non-planar) quad: the cross product of its diagonals. Two-sided,
      // because the reader may turn the surface to look at it from below.
      const u = [p2.sx - p0.sx, p2.sy - p0.sy, p2.depth - p0.depth];
      const w = [p3.sx - p1.sx, p3.sy - p1.sy, p3.depth - p1.depth];
      const n = [u[1]! * w[2]! - u[2]! * w[1]!, u[2]! * w[0]! - u[0]! * w[2]!, u[0]! * w[1]! - u[1]! * w[0]!];
      const length = Math.hypot(n[0]!, n[1]!, n[2]!) || 1;
      const loss = (z[r]![c]! + z[r]![c + 1]! + z[r + 1]![c]! + z[r + 1]![c + 1]!) / 4;
      const polygon = corners.map((p) => [p.sx, p.sy] as [number, number]);
      quads.push({
        polygon: [...polygon, polygon[0]!],
        loss,
        depth: corners.reduce((s, p) => s + p.depth, 0) / 4,
        light: Math.abs(n[0]! * light[0]! + n[1]! * light[1]! + n[2]! * light[2]!) / length,
      });
    }
  }
  return quads.sort((p, q) => q.depth - p.depth);
}

/** What the page's live view draws: the panels' grids (losses capped) and the shared scales. */
export interface SurfaceViewData {
  panels: { title: string; axis: number[]; z: number[][] }[];
  /** log10 of the lowest and highest (capped) loss over every panel: heights and colours. */
  logRange: [number, number];
  view: View;
}

/**
 * The page script of the live view, a function `(element, data: SurfaceViewData)`: it replaces the
 * element's static SVG with one canvas per panel and a colour bar, and redraws every panel from
 * the same view as the reader drags any of them (or presses the arrow keys; a double click goes
 * back to the start). If it throws, the page leaves the static SVG in place.
 */
export function surfaceViewScript(): string {
  return `function (el, data) {
  var surfaceQuads = ${surfaceQuads.toString()};
  if (!window.vega || !window.vega.scheme) throw new Error('vega is not loaded');
  var viridis = window.vega.scheme('viridis');
  // viridis as 256 RGB triples: the canvas parses vega's colour strings for us.
  var probe = document.createElement('canvas').getContext('2d');
  var table = [];
  for (var i = 0; i < 256; i++) {
    probe.fillStyle = '#000000';
    probe.fillStyle = viridis(i / 255);
    var hex = probe.fillStyle;
    table.push([parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)]);
  }
  var lo = data.logRange[0], hi = data.logRange[1];
  var colourAt = function (loss) {
    var t = hi > lo ? (Math.log10(loss) - lo) / (hi - lo) : 0;
    return table[Math.max(0, Math.min(255, Math.round(t * 255)))];
  };
  var view = { azimuth: data.view.azimuth, elevation: data.view.elevation };
  var W = 320, H = 300, dpr = window.devicePixelRatio || 1;
  var root = document.createElement('div');
  root.className = 'lth-surface-view';
  root.style.cssText = 'display:flex;flex-wrap:wrap;gap:0.5rem 1rem;align-items:flex-start';
  var canvases = data.panels.map(function (panel) {
    var box = document.createElement('div');
    var title = document.createElement('div');
    title.textContent = panel.title;
    title.style.cssText = 'font-weight:bold;font-size:13px';
    var canvas = document.createElement('canvas');
    canvas.className = 'lth-surface';
    canvas.width = W * dpr;
    canvas.height = H * dpr;
    canvas.style.cssText = 'width:' + W + 'px;height:' + H + 'px;cursor:grab;touch-action:none';
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', '3D training-loss surface, ' + panel.title + '; drag or use the arrow keys to rotate');
    box.append(title, canvas);
    root.append(box);
    return canvas;
  });
  // The colour bar: the shared log scale of heights and colours.
  var bar = document.createElement('div');
  bar.style.cssText = 'font-size:12px;align-self:center';
  var strip = document.createElement('canvas');
  strip.width = 256;
  strip.height = 1;
  strip.style.cssText = 'width:200px;height:12px;display:block;image-rendering:pixelated';
  var sctx = strip.getContext('2d');
  table.forEach(function (rgb, i) { sctx.fillStyle = 'rgb(' + rgb.join(',') + ')'; sctx.fillRect(i, 0, 1, 1); });
  var ends = document.createElement('div');
  ends.style.cssText = 'display:flex;justify-content:space-between;width:200px';
  [lo, hi].forEach(function (v) { var s = document.createElement('span'); s.textContent = Math.pow(10, v).toPrecision(3); ends.append(s); });
  var label = document.createElement('div');
  label.textContent = 'train loss (log scale: height and colour)';
  var hint = document.createElement('div');
  hint.style.cssText = 'color:#555;margin-top:0.4rem';
  hint.textContent = 'Drag a surface (or use the arrow keys) to turn all of them; double-click to reset.';
  bar.append(label, strip, ends, hint);
  root.append(bar);

  // Scene units to pixels: the surface fits at any azimuth (its corners reach √2 from the centre).
  var scale = Math.min(W / (2 * 1.5), H / (2 * 1.55));
  function draw() {
    var c0 = view.elevation;
    data.panels.forEach(function (panel, p) {
      var ctx = canvases[p].getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      var toPx = function (pt) { return [W / 2 + pt[0] * scale, H / 2 - (pt[1] - 0.6 * Math.cos(c0)) * scale]; };
      var path = function (polygon) {
        ctx.beginPath();
        polygon.forEach(function (pt, k) { var q = toPx(pt); if (k) ctx.lineTo(q[0], q[1]); else ctx.moveTo(q[0], q[1]); });
        ctx.closePath();
      };
      // The floor (the lowest loss's height), under the surface.
      var floor = surfaceQuads([-1, 1], [[Math.pow(10, lo), Math.pow(10, lo)], [Math.pow(10, lo), Math.pow(10, lo)]], [lo, hi], 0, view)[0].polygon;
      path(floor);
      ctx.fillStyle = '#f3f3f3';
      ctx.fill();
      ctx.strokeStyle = '#999';
      ctx.lineWidth = 1;
      ctx.stroke();
      surfaceQuads(panel.axis, panel.z, [lo, hi], 0, view).forEach(function (q) {
        var rgb = colourAt(q.loss), f = 0.45 + 0.55 * q.light;
        var fill = 'rgb(' + Math.round(rgb[0] * f) + ',' + Math.round(rgb[1] * f) + ',' + Math.round(rgb[2] * f) + ')';
        path(q.polygon);
        ctx.fillStyle = fill;
        ctx.fill();
        ctx.strokeStyle = fill;
        ctx.lineWidth = 0.6;
        ctx.stroke();
      });
      // The axes' names last, beside the floor's edges, so the surface never hides them.
      ctx.fillStyle = '#333';
      ctx.font = '13px sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      var outside = function (a, b) { return toPx([((a[0] + b[0]) / 2) * 1.18, ((a[1] + b[1]) / 2) * 1.18]); };
      var la = outside(floor[0], floor[1]), lb = outside(floor[3], floor[0]);
      ctx.fillText('α', la[0], la[1]);
      ctx.fillText('β', lb[0], lb[1]);
    });
    root.setAttribute('data-azimuth', view.azimuth.toFixed(4));
    root.setAttribute('data-elevation', view.elevation.toFixed(4));
  }
  var pending = false;
  function look(azimuth, elevation) {
    view.azimuth = azimuth;
    view.elevation = Math.max(0, Math.min(Math.PI / 2, elevation));
    // One redraw per frame, however many pointer events arrive.
    if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); }
  }
  function turn(dAzimuth, dElevation) { look(view.azimuth + dAzimuth, view.elevation + dElevation); }
  canvases.forEach(function (canvas) {
    var last = null;
    canvas.addEventListener('pointerdown', function (ev) { last = [ev.clientX, ev.clientY]; canvas.setPointerCapture(ev.pointerId); canvas.style.cursor = 'grabbing'; });
    canvas.addEventListener('pointermove', function (ev) {
      if (!last) return;
      turn(-(ev.clientX - last[0]) * 0.01, (ev.clientY - last[1]) * 0.01);
      last = [ev.clientX, ev.clientY];
    });
    var stop = function () { last = null; canvas.style.cursor = 'grab'; };
    canvas.addEventListener('pointerup', stop);
    canvas.addEventListener('pointercancel', stop);
    canvas.addEventListener('dblclick', function () { look(data.view.azimuth, data.view.elevation); });
    canvas.addEventListener('keydown', function (ev) {
      var step = { ArrowLeft: [0.1, 0], ArrowRight: [-0.1, 0], ArrowUp: [0, 0.1], ArrowDown: [0, -0.1] }[ev.key];
      if (step) { ev.preventDefault(); turn(step[0], step[1]); }
    });
  });
  draw();
  el.replaceChildren(root);
  el.setAttribute('data-embedded', 'true');
}`;
}
