/** The bundle of the current sources of the project at `root` (default: this one), or undefined if it cannot be built. */
export function freshBundle(root?: string): Promise<string | undefined>;
