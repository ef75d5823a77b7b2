/** Geometry of {@link interleavePhases}. */
export interface PhaseLayout {
  n: number;
  /** Phase grid size: `phases` has shape `[n, qh, qw, sh * sw * c]`. */
  qh: number;
  qw: number;
  sh: number;
  sw: number;
  c: number;
  /** Output `[n, h, w, c]`: output row `i` is padded-input row `i + top`. */
  h: number;
  w: number;
  top: number;
  left: number;
}

/**
 * Interleaves the `s x s` phase outputs of a sub-pixel transposed convolution into the full image and crops the
 * forward padding, in one pass: `out[b, i, j, :] = phases[b, q_i, q_j, (r_i * sw + r_j) * c : ... + c]` where
 * `i + top = q_i * sh + r_i` and `j + left = q_j * sw + r_j`. (DepthToSpace followed by Slice, without the
 * intermediate tensor.)
 */
export function interleavePhases(phases: Float32Array, out: Float32Array, g: PhaseLayout): void {
  const { n, qh, qw, sh, sw, c, h, w, top, left } = g;
  const pc = sh * sw * c;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const qi = Math.floor((i + top) / sh);
      const ri = i + top - qi * sh;
      const rowIn = (b * qh + qi) * qw;
      let o = (b * h + i) * w * c;
      for (let j = 0; j < w; j++) {
        const qj = Math.floor((j + left) / sw);
        const rj = j + left - qj * sw;
        let p = (rowIn + qj) * pc + (ri * sw + rj) * c;
        if (c >= 16) {
          out.set(phases.subarray(p, p + c), o);
          o += c;
        } else {
          for (let k = 0; k < c; k++) out[o++] = phases[p++];
        }
      }
    }
  }
}

/**
 * Writes one phase `(rh, rw)` of a sub-pixel transposed convolution, computed alone as `[n, qh, qw, c]` (`g.sh` and
 * `g.sw` still the strides), to the output pixels of that phase, cropping the forward padding as
 * {@link interleavePhases} does.
 */
export function interleavePhase(phase: Float32Array, out: Float32Array, g: PhaseLayout, rh: number, rw: number): void {
  const { n, qh, qw, sh, sw, c, h, w, top, left } = g;
  // The first output row and column of the phase: (i + top) % sh = rh.
  const i0 = (((rh - top) % sh) + sh) % sh;
  const j0 = (((rw - left) % sw) + sw) % sw;
  for (let b = 0; b < n; b++) {
    for (let i = i0; i < h; i += sh) {
      const rowIn = (b * qh + (i + top - rh) / sh) * qw;
      const rowOut = (b * h + i) * w;
      for (let j = j0; j < w; j += sw) {
        const p = (rowIn + (j + left - rw) / sw) * c;
        const o = (rowOut + j) * c;
        if (c >= 16) out.set(phase.subarray(p, p + c), o);
        else for (let k = 0; k < c; k++) out[o + k] = phase[p + k];
      }
    }
  }
}
