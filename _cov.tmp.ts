import { readExr } from './renderer/node/exr.js';
const b = await readExr(process.argv[2]);
const A = b.channels.find((c) => c.name === 'A')!.data;
let cov = 0; for (const v of A) cov += v;
console.log('coverage', cov / A.length);
