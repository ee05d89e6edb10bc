/**
 * The intermediates' workspace: each task output that is neither a graph input nor a graph
 * output gets a slice, and a slice is reused once the last task reading its value has
 * run (first fit, 64-byte aligned). A task's outputs never overlap its inputs: those are
 * still live while it runs.
 */
/** 64-byte alignment, as the kernels expect of every tensor and of their scratch. */
const ALIGN_FLOATS = 16;
export const alignUp = (n: number) => Math.ceil(n / ALIGN_FLOATS) * ALIGN_FLOATS;

interface Slice {
  readonly offset: number;
  readonly floats: number;
  /** The last task (by index) that reads the value. */
  readonly lastUse: number;
}

export class Workspace {
  private live: Slice[] = [];
  /** The floats the workspace needs: the highest end of any slice. */
  floats = 0;

  /** A slice of `floats` for a value that task `task` writes and task `lastUse` reads last. */
  place(task: number, floats: number, lastUse: number): number {
    this.live = this.live.filter((s) => s.lastUse >= task).sort((a, b) => a.offset - b.offset);
    const size = alignUp(floats);
    let offset = 0;
    for (const s of this.live) {
      if (s.offset - offset >= size) break;
      offset = Math.max(offset, s.offset + s.floats);
    }
    this.live.push({ offset, floats: size, lastUse: Math.max(lastUse, task) });
    this.floats = Math.max(this.floats, offset + size);
    return offset;
  }
}
