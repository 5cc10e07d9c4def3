/** The object storage contract on the filesystem backend (a temp data directory). */
import { openFilesystemBackend } from './object-storage.backends.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

describeObjectStorageContract('filesystem', openFilesystemBackend, { shareable: false });
