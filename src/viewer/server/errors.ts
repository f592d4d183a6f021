/**
 * An error the caller can fix by changing the arguments (a missing or corrupt
 * run, an out-of-range frame, an odd video size). The CLI reports it as a
 * usage error; everything else (Chromium missing, encoder failure) is not.
 */
export class ViewArgumentError extends Error {
  override name = 'ViewArgumentError';
}
