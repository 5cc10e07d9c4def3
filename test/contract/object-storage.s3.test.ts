/**
 * The object storage contract on S3: s3rver on 127.0.0.1, a bucket made for the suite. Shared by
 * any number of nodes for blobs and reads; a step's appends come from its run's owner only, as S3
 * has no lock to keep two writers' chunks apart (s3-step-logs.ts).
 */
import { openS3Backend } from './object-storage.backends.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

describeObjectStorageContract('s3 on s3rver', openS3Backend, { shareable: true, appendsFromTwoNodes: false });
