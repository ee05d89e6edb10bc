/** A bucket file that cannot be used; the message names the file and the field. */
export class BucketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BucketError";
  }
}
