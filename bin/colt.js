#!/usr/bin/env node
// Runs the CLI from a bundle of the TypeScript sources (bin/bundle.js), rebuilt whenever a
// source changes, or through tsx where no bundle can be built: `npm ci` is the whole install.
import { freshBundle } from "./bundle.js";

const bundle = await freshBundle();
let main;
if (bundle) {
  // Stack traces of a bug then name the sources' lines, not the bundle's.
  process.setSourceMapsEnabled(true);
  ({ main } = await import(bundle));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
await main(process.argv);
