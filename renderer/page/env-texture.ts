// Browser-only. An environment cube built from a float equirect map that Node prepared
// (any source format, already blended/validated), so the page never parses .hdr/.exr itself.
import { EnvCubeTexture } from '@babylonjs/core/Materials/Textures/envCubeTexture.js';
import { PanoramaToCubeMapTools } from '@babylonjs/core/Misc/HighDynamicRange/panoramaToCubemap.js';
import type { Scene } from '@babylonjs/core/scene.js';
import { VLSE_HEADER_BYTES, VLSE_MAGIC } from '../core/protocol.js';

export class EquirectFloatCubeTexture extends EnvCubeTexture {
  constructor(url: string, private readonly scene_: Scene, size: number, private readonly prefilter_: boolean, onLoad: () => void, onError: (msg?: string) => void) {
    // noMipmap=false, generateHarmonics=true (SH for diffuse IBL), gammaSpace=false.
    super(url, scene_, size, false, true, false, prefilter_, onLoad, (msg?: string) => onError(msg));
  }

  protected _instantiateClone(): this {
    return new EquirectFloatCubeTexture(this.url, this.scene_, this._size, this.prefilter_, () => undefined, () => undefined) as this;
  }

  override getClassName(): string {
    return 'EquirectFloatCubeTexture';
  }

  // Called by EnvCubeTexture with the fetched bytes.
  async _getCubeMapTextureDataAsync(buffer: ArrayBuffer, size: number, supersample: boolean) {
    const header = new Uint32Array(buffer, 0, 4);
    if (header[0] !== VLSE_MAGIC || header[3] !== 3) throw new Error(`bad VLSE environment buffer from ${this.url}`);
    const width = header[1];
    const height = header[2];
    const data = new Float32Array(buffer, VLSE_HEADER_BYTES, width * height * 3);
    return PanoramaToCubeMapTools.ConvertPanoramaToCubemap(data, width, height, size, supersample, true);
  }
}
