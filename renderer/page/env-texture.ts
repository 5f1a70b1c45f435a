// Browser-only. The environment's residual as a float32 cube with the GGX mip chain Node made
// (renderer/core/cubemap.ts: OpenGL face layout in world axes), and its SH9 as Babylon's
// spherical polynomial for diffuse. Nothing is resampled or filtered here.
import { RawCubeTexture } from '@babylonjs/core/Materials/Textures/rawCubeTexture.js';
import { Constants } from '@babylonjs/core/Engines/constants.js';
import { SphericalHarmonics, SphericalPolynomial } from '@babylonjs/core/Maths/sphericalPolynomial.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { VLSE_HEADER_BYTES, VLSC_MAGIC } from '../core/protocol.js';

/** Parses a VLSC buffer and uploads every level; throws on a malformed buffer or a GPU without float textures. */
export function createEnvCube(scene: Scene, buffer: ArrayBuffer, sh: number[], label: string): RawCubeTexture {
  const header = new Uint32Array(buffer, 0, 4);
  if (header[0] !== VLSC_MAGIC || header[3] !== 4) throw new Error(`bad VLSC environment buffer from ${label}`);
  const size = header[1];
  const levels = header[2];
  const engine = scene.getEngine();
  const caps = engine.getCaps();
  if (!caps.textureFloat || !caps.textureFloatLinearFiltering) {
    throw new Error('this WebGL backend has no linearly filtered float32 textures (OES_texture_float_linear): the HDR environment cannot be uploaded without clipping');
  }
  const faces = (level: number): Float32Array[] => {
    const n = size >> level;
    let offset = VLSE_HEADER_BYTES;
    for (let l = 0; l < level; l++) offset += 6 * (size >> l) * (size >> l) * 16;
    return Array.from({ length: 6 }, (_, f) => new Float32Array(buffer, offset + f * n * n * 16, n * n * 4));
  };
  let expected = VLSE_HEADER_BYTES;
  for (let l = 0; l < levels; l++) expected += 6 * (size >> l) * (size >> l) * 16;
  if (buffer.byteLength !== expected || size >> (levels - 1) < 1) throw new Error(`VLSC buffer from ${label}: ${buffer.byteLength} bytes, expected ${expected} for ${levels} levels of ${size}²`);
  // Level 0 through Babylon (sets up the internal texture with a full mip chain), then levels
  // 1.. replaced by the prefiltered ones.
  const tex = new RawCubeTexture(scene, faces(0), size, Constants.TEXTUREFORMAT_RGBA, Constants.TEXTURETYPE_FLOAT, true, false, Constants.TEXTURE_TRILINEAR_SAMPLINGMODE);
  const gl = (engine as unknown as { _gl: WebGL2RenderingContext })._gl;
  const internal = tex.getInternalTexture()!;
  engine._bindTextureDirectly(gl.TEXTURE_CUBE_MAP, internal, true);
  gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  for (let l = 1; l < levels; l++) {
    const n = size >> l;
    const data = faces(l);
    for (let f = 0; f < 6; f++) gl.texImage2D(gl.TEXTURE_CUBE_MAP_POSITIVE_X + f, l, gl.RGBA32F, n, n, 0, gl.RGBA, gl.FLOAT, data[f]);
  }
  gl.texParameteri(gl.TEXTURE_CUBE_MAP, gl.TEXTURE_MAX_LEVEL, levels - 1);
  engine._bindTextureDirectly(gl.TEXTURE_CUBE_MAP, null);
  tex.gammaSpace = false;
  // Looked up with world directions (no Z flip in a right-handed scene), lod = log2(size) * roughness.
  tex.invertZ = true;
  tex.linearSpecularLOD = true;
  tex.lodGenerationScale = 1;
  tex.lodGenerationOffset = 0;
  // Babylon's real SH basis carries the Condon-Shortley phase (its l1-1, l11, l2-1, l21
  // functions are the negatives of core/sh9.ts's): flip those coefficients.
  const sign = [1, -1, 1, -1, 1, -1, 1, -1, 1];
  const harmonics = SphericalHarmonics.FromArray(Array.from({ length: 9 }, (_, k) => [sign[k] * sh[k * 3], sign[k] * sh[k * 3 + 1], sign[k] * sh[k * 3 + 2]]));
  harmonics.convertIncidentRadianceToIrradiance();
  harmonics.convertIrradianceToLambertianRadiance();
  tex.sphericalPolynomial = SphericalPolynomial.FromHarmonics(harmonics);
  return tex;
}
