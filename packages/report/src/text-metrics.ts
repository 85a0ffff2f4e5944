/**
 * Text widths for chart layout. Without a canvas, vega guesses every glyph at 0.8 em, which makes
 * legends and facet headers far wider than the text. These are the advance widths (in em) of
 * DejaVu Sans, Book and Bold, for printable ASCII (32..126), read from the fonts' hmtx tables. DejaVu
 * Sans is the first family of the charts' font stack and wider than Helvetica or Arial, so text
 * never overflows the space vega reserves for it when a browser falls back to those.
 */
const REGULAR = [0.3179, 0.4009, 0.46, 0.8379, 0.6362, 0.9502, 0.7798, 0.2749, 0.3901, 0.3901, 0.5, 0.8379, 0.3179, 0.3608, 0.3179, 0.3369, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.3369, 0.3369, 0.8379, 0.8379, 0.8379, 0.5308, 1.0, 0.6841, 0.686, 0.6982, 0.77, 0.6318, 0.5752, 0.7749, 0.752, 0.2949, 0.2949, 0.6558, 0.5571, 0.8628, 0.748, 0.7871, 0.603, 0.7871, 0.6948, 0.6348, 0.6108, 0.7319, 0.6841, 0.9888, 0.6851, 0.6108, 0.6851, 0.3901, 0.3369, 0.3901, 0.8379, 0.5, 0.5, 0.6128, 0.6348, 0.5498, 0.6348, 0.6152, 0.3521, 0.6348, 0.6338, 0.2778, 0.2778, 0.5791, 0.2778, 0.9741, 0.6338, 0.6118, 0.6348, 0.6348, 0.4111, 0.521, 0.3921, 0.6338, 0.5918, 0.8179, 0.5918, 0.5918, 0.5249, 0.6362, 0.3369, 0.6362, 0.8379];
const BOLD = [0.3481, 0.4561, 0.521, 0.8379, 0.6958, 1.002, 0.8721, 0.3062, 0.457, 0.457, 0.5229, 0.8379, 0.3799, 0.415, 0.3799, 0.3652, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.3999, 0.3999, 0.8379, 0.8379, 0.8379, 0.5801, 1.0, 0.7739, 0.7622, 0.7339, 0.8301, 0.6831, 0.6831, 0.8208, 0.8369, 0.3721, 0.3721, 0.7749, 0.6372, 0.9951, 0.8369, 0.8501, 0.7329, 0.8501, 0.77, 0.7202, 0.6821, 0.812, 0.7739, 1.103, 0.771, 0.7241, 0.7251, 0.457, 0.3652, 0.457, 0.8379, 0.5, 0.5, 0.6748, 0.7158, 0.5928, 0.7158, 0.6782, 0.4351, 0.7158, 0.7119, 0.3428, 0.3428, 0.665, 0.3428, 1.042, 0.7119, 0.687, 0.7158, 0.7158, 0.4932, 0.5952, 0.478, 0.7119, 0.6519, 0.9238, 0.645, 0.6519, 0.582, 0.7119, 0.3652, 0.7119, 0.8379];
const EXTRA: Record<string, number> = { '–': 0.5, '—': 1.0, '…': 1.0, '’': 0.3179, '×': 0.8379, 'θ': 0.6118, 'μ': 0.6362, 'σ': 0.6338 };
const EXTRA_BOLD: Record<string, number> = { '–': 0.5, '—': 1.0, '…': 1.0, '’': 0.3799, '×': 0.8379, 'θ': 0.687, 'μ': 0.7358, 'σ': 0.7788 };
/** Anything else (non-Latin, symbols): a wide glyph, so space is never short. */
const OTHER = 0.9;

/** Width in pixels of `text` set in DejaVu Sans at `fontSize`. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD : REGULAR;
  const extra = bold ? EXTRA_BOLD : EXTRA;
  let em = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    em += code >= 32 && code <= 126 ? table[code - 32]! : (extra[ch] ?? OTHER);
  }
  return em * fontSize;
}

interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
}

/** vega's text measure: (item, text) → width in pixels, as vega-scenegraph's textMetrics.width. */
export function measureItemText(item: TextItem, text: unknown): number {
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  const weight = item.fontWeight;
  const bold = weight === 'bold' || weight === 'bolder' || (Number(weight) || 0) >= 600;
  const s = text == null ? '' : String(text).trim();
  return size <= 0 || !s ? 0 : textWidth(s, size, bold);
}
