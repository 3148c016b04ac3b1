/**
 * grpc-js's pick_first ends its error with `Resolution note: <note>` even when the note is empty
 * ("... ECONNREFUSED 127.0.0.1:1. Resolution note: "). Drops the empty note wherever it sits in `text`.
 */
export function withoutEmptyResolutionNote(text: string): string {
  return text.replace(/\.? Resolution note: ?(?=$|[);,\]])/g, '');
}
