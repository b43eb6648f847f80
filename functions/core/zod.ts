// Layer flow: every schema of the functions -> this module -> zod/mini, configured once with zod's English
// messages ("expected string, received number"). zod/mini is tree-shakable: the bundles carry only the
// schema kinds they use (the full zod API and its locales would cost several hundred KB).
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
