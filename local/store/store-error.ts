// Layer flow: openStore and its parts -> StoreError -> the CLIs, which print its message (exit 2).

/** The store cannot be opened, or lacks what the command needs; the message says what to do. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}
