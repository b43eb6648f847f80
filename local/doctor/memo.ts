// Layer flow: doctor's targets -> this helper: what a check reads is read once, on first need, and shared.

/** A value computed on first need and shared by every later caller (a rejection too). */
export function memo<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= compute();
    return value;
  };
}
