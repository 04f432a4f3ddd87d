// Types for snappyjs (the package ships none): the raw snappy block format.
declare module 'snappyjs' {
  /** Compress into the raw snappy block format. */
  export function compress<T extends Uint8Array | ArrayBuffer>(data: T): T;
  /** Decompress; throws on a bad stream or a declared length above `maxLength`. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(data: T, maxLength?: number): T;
  const snappy: { compress: typeof compress; uncompress: typeof uncompress };
  export default snappy;
}
