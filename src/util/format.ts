/** Human-readable numbers for terminal output. */
export function formatFlops(flops: number): string {
  const units: [number, string][] = [
    [1e12, "TFLOP"],
    [1e9, "GFLOP"],
    [1e6, "MFLOP"],
    [1e3, "kFLOP"],
  ];
  for (const [scale, unit] of units)
    if (flops >= scale) return `${(flops / scale).toFixed(2)} ${unit}`;
  return `${flops} FLOP`;
}

export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [2 ** 30, "GiB"],
    [2 ** 20, "MiB"],
    [2 ** 10, "KiB"],
  ];
  for (const [scale, unit] of units)
    if (bytes >= scale) return `${(bytes / scale).toFixed(2)} ${unit}`;
  return `${bytes} B`;
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3)} s`;
  if (ms >= 1) return `${ms.toFixed(3)} ms`;
  return `${(ms * 1000).toFixed(1)} us`;
}

export const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
