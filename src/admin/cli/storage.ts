import { Command, Option } from 'commander';
import { apiFor, globals } from './context.js';
import { printJson } from './output.js';
import { UsageError } from './secret-input.js';

interface MigrationReply {
  from: string;
  to: string;
  counts: {
    blobs: { copied: number; skipped: number; bytes: number };
    stepLogs: { copied: number; skipped: number; differs: number; bytes: number };
  };
}

interface MigrateOptions {
  to: 'filesystem' | 'database' | 's3';
  bucket?: string;
  logBucket?: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  prefix: string;
  checksums: 'when_supported' | 'when_required';
}

/**
 * `storage migrate --to s3|database|filesystem`: the orchestrator copies its blobs and step logs to
 * another backend and keeps using its own. Run it again to pick up what was written meanwhile
 * (what is already there is skipped), then switch KICI_STORAGE_TYPE and restart. The bucket's
 * credentials are the orchestrator's (its AWS SDK chain), never sent from here.
 */
export function storageCommands(): Command {
  const storage = new Command('storage').description('object storage: blobs (webhook payload copies) and step logs');
  storage.addCommand(
    new Command('migrate')
      .description('copy the orchestrator\'s blobs and step logs to another backend (resumable: what is already there is skipped)')
      .addOption(new Option('--to <kind>', 'the backend to copy to').choices(['s3', 'database', 'filesystem']).makeOptionMandatory())
      .option('--bucket <name>', 's3: the bucket (KICI_STORAGE_BUCKET once switched)')
      .option('--log-bucket <name>', 's3: a bucket of their own for step logs')
      .option('--region <region>', 's3: the region', 'us-east-1')
      .option('--endpoint <url>', 's3: an S3-compatible server\'s URL, as the orchestrator reaches it')
      .option('--force-path-style', 's3: ENDPOINT/bucket/key addressing (most non-AWS servers)')
      .option('--prefix <prefix>', 's3: a folder every key is kept under', '')
      .addOption(new Option('--checksums <mode>', 's3: request checksums').choices(['when_required', 'when_supported']).default('when_required'))
      .action(async (o: MigrateOptions, cmd: Command) => {
        if (o.to === 's3' && !o.bucket) throw new UsageError('--to s3 needs --bucket');
        const body =
          o.to === 's3'
            ? {
                to: o.to,
                s3: { bucket: o.bucket, logBucket: o.logBucket, region: o.region, endpoint: o.endpoint, forcePathStyle: Boolean(o.forcePathStyle), prefix: o.prefix, checksums: o.checksums },
              }
            : { to: o.to };
        const reply = await apiFor(cmd).call<MigrationReply>('POST', '/storage/migrate', body);
        if (globals(cmd).json) return printJson(reply);
        const { blobs, stepLogs } = reply.counts;
        process.stdout.write(`copied from ${reply.from} to ${reply.to}:\n`);
        process.stdout.write(`  blobs: ${blobs.copied} copied (${blobs.bytes} bytes), ${blobs.skipped} already there\n`);
        process.stdout.write(`  step logs: ${stepLogs.copied} copied (${stepLogs.bytes} bytes), ${stepLogs.skipped} already there`);
        process.stdout.write(stepLogs.differs > 0 ? `, ${stepLogs.differs} longer at the target (left alone)\n` : '\n');
      }),
  );
  return storage;
}
