/**
 * Why bytes from a peer could not be turned into a message. Every decoding step in the wire layer
 * returns one of these instead of throwing; the node turns it into a `Close` with a reason.
 *
 * Plain data only. `describeDecodeError` renders one for logs and close reasons.
 */

/** A typed decoding failure. */
export type DecodeError =
  /** A length header above the configured maximum, refused before the body is read. */
  | { readonly _tag: 'FrameTooLarge'; readonly length: number; readonly max: number }
  /** A whole frame whose length header disagrees with its size. */
  | { readonly _tag: 'LengthMismatch'; readonly declared: number; readonly actual: number }
  /** A body too short to hold the 32-byte checksum. */
  | { readonly _tag: 'TooShort'; readonly length: number; readonly need: number }
  /** No decompression (nor the raw bytes) matched the checksum. */
  | { readonly _tag: 'ChecksumMismatch'; readonly tried: ReadonlyArray<string> }
  /** The checksummed bytes are not one well-formed msgpack value. */
  | { readonly _tag: 'NotMsgpack'; readonly detail: string }
  /** A msgpack extension type (the protocol uses none). */
  | { readonly _tag: 'ExtensionType'; readonly offset: number }
  /** Nesting deeper than the decoder allows. */
  | { readonly _tag: 'TooDeep'; readonly depthMax: number }
  /** More values (or maps) in one msgpack value than the decoder allows. */
  | { readonly _tag: 'TooManyValues'; readonly what: 'values' | 'maps'; readonly max: number }
  /** The msgpack value is not an array of at least three packets. */
  | { readonly _tag: 'NotAnArray'; readonly detail: string }
  /** A packet of the wrong type (`index` in the packet list). */
  | { readonly _tag: 'BadField'; readonly index: number; readonly expected: string }
  /** A protocol message whose payload has the wrong shape. */
  | { readonly _tag: 'BadMessage'; readonly msgType: number; readonly subFlag: number | undefined; readonly detail: string }
  /** A character outside the base58 alphabet (or an empty string). */
  | { readonly _tag: 'BadBase58'; readonly index: number; readonly char: string };

/** A short human-readable sentence for an error. */
export const describeDecodeError = (e: DecodeError): string => {
  switch (e._tag) {
    case 'FrameTooLarge':
      return `frame length ${e.length} exceeds the maximum of ${e.max} bytes`;
    case 'LengthMismatch':
      return `frame header says ${e.declared} bytes but ${e.actual} follow`;
    case 'TooShort':
      return `frame body of ${e.length} bytes is shorter than ${e.need}`;
    case 'ChecksumMismatch':
      return `checksum mismatch (tried: ${e.tried.join(', ') || 'raw'})`;
    case 'NotMsgpack':
      return `not msgpack: ${e.detail}`;
    case 'ExtensionType':
      return `msgpack extension type at offset ${e.offset} (none is allowed)`;
    case 'TooDeep':
      return `msgpack nesting deeper than ${e.depthMax}`;
    case 'TooManyValues':
      return `msgpack value holds more than ${e.max} ${e.what}`;
    case 'NotAnArray':
      return `not a packet list: ${e.detail}`;
    case 'BadField':
      return `packet ${e.index} is not ${e.expected}`;
    case 'BadMessage':
      return `bad message (type ${e.msgType}, sub-flag ${String(e.subFlag)}): ${e.detail}`;
    case 'BadBase58':
      return e.char === '' ? 'empty base58 string' : `bad base58 character ${JSON.stringify(e.char)} at ${e.index}`;
  }
};
