// The WebGL backends a renderer can run on (probed in renderer/engine/browser.ts), fastest first.
export type Backend = 'gpu' | 'llvmpipe' | 'swiftshader';
export const BACKENDS: Backend[] = ['gpu', 'llvmpipe', 'swiftshader'];
