// Curves with more points than a figure has pixels are drawn from min–max buckets: each bucket of
// x keeps its lowest and highest point (in x order), so a one-step spike or a NaN-adjacent jump
// is never averaged away, and the first and last points are always kept. Pure.
export interface XYPoint {
  x: number;
  y: number;
}

export function minMaxDownsample<T extends XYPoint>(points: readonly T[], buckets: number): T[] {
  if (points.length <= buckets * 2 || buckets < 1) return [...points];
  const first = points[0] as T;
  const last = points[points.length - 1] as T;
  const lo = first.x;
  const span = last.x - lo || 1;
  const out: T[] = [];
  let b = -1;
  let min: T | undefined;
  let max: T | undefined;
  const flush = (): void => {
    if (!min || !max) return;
    if (min === max) out.push(min);
    else out.push(...(min.x <= max.x ? [min, max] : [max, min]));
  };
  for (const p of points) {
    const k = Math.min(buckets - 1, Math.floor(((p.x - lo) / span) * buckets));
    if (k !== b) {
      flush();
      b = k;
      min = p;
      max = p;
      continue;
    }
    if (!(p.y >= (min as T).y)) min = p;
    if (!(p.y <= (max as T).y)) max = p;
  }
  flush();
  if (out[0] !== first) out.unshift(first);
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}
