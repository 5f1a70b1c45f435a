// In-memory image encoders (no file access): what renderer/develop may use to turn pixels into
// file bytes. The files are written by renderer/dataset (write-sample.ts), atomically; develop
// never imports io's writers (.dependency-cruiser.cjs "develop-no-writers").
export { encodeExr, encodeExrAsync } from './exr-write.js';
export type { ExrImageInput, ExrWriteOptions } from './exr-format.js';
export { encodePng } from './image-io.js';
export type { PngWriteOptions } from './image-io.js';
