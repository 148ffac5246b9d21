import type { Clock } from '../core/clock.js';
import { assertKnownKeys } from '../core/known-keys.js';
import { assertMs, msOutOfRange, TIMER_LIMIT } from '../core/option-rules.js';
import type { Storage } from '../core/storage.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { DEFAULT_SQLITE_FILE, STORAGE_OPTION_KEYS, unknownStorageType, type StorageConfig } from './storage-options.js';
import { MemoryStorage } from './memory/memory.storage.js';

/**
 * Builds the storage named in the module options. The TypeORM storage (and with it
 * `typeorm` and the database drivers) is loaded only when asked for.
 * `resolveToken` looks an injection token up in the app's container (for `dataSourceToken`).
 */
export async function createStorage(
  config: StorageConfig | undefined,
  clock: Clock | undefined,
  resolveToken: (token: string | symbol | Function) => unknown,
): Promise<Storage> {
  const cfg: StorageConfig = config ?? { type: 'sqlite', database: DEFAULT_SQLITE_FILE };
  if (typeof cfg !== 'object' || cfg === null) throw new InvalidOptionsError('storage', unknownStorageType(cfg));
  if ('instance' in cfg) {
    assertKnownKeys(cfg, STORAGE_OPTION_KEYS.instance, 'storage options ({ instance })', 'storage.');
    if (!cfg.instance || typeof cfg.instance.claim !== 'function') {
      throw new InvalidOptionsError('storage.instance', 'expected an object implementing the Storage contract');
    }
    return cfg.instance;
  }
  if (!('type' in cfg)) {
    if (cfg.dataSource === undefined && cfg.dataSourceToken === undefined) {
      throw new InvalidOptionsError('storage', unknownStorageType(undefined));
    }
    assertKnownKeys(cfg, STORAGE_OPTION_KEYS.dataSource, 'storage options ({ dataSource })', 'storage.');
    checkTimers(cfg);
    const dataSource = cfg.dataSource ?? resolveToken(assertToken(cfg.dataSourceToken));
    const { TypeOrmStorage } = await import('./typeorm/typeorm.storage.js');
    return TypeOrmStorage.fromDataSource(dataSource, cfg);
  }
  switch (cfg.type) {
    case 'memory':
      assertKnownKeys(cfg, STORAGE_OPTION_KEYS.memory, "storage options of type 'memory'", 'storage.');
      return new MemoryStorage({ clock: cfg.clock ?? clock });
    case 'sqlite':
    case 'postgres':
    case 'mysql':
    case 'mariadb': {
      const known = cfg.type === 'sqlite' ? STORAGE_OPTION_KEYS.sqlite : STORAGE_OPTION_KEYS.server;
      assertKnownKeys(cfg, known, `storage options of type '${cfg.type}'`, 'storage.');
      checkTimers(cfg);
      const { TypeOrmStorage } = await import('./typeorm/typeorm.storage.js');
      return TypeOrmStorage.fromConfig(cfg);
    }
    default:
      throw new InvalidOptionsError('storage.type', unknownStorageType((cfg as { type?: unknown }).type));
  }
}

function assertToken(token: unknown): string | symbol | Function {
  if (typeof token === 'string' || typeof token === 'symbol' || typeof token === 'function') return token;
  throw new InvalidOptionsError('storage.dataSourceToken', 'expected an injection token (a string, a symbol or a class), e.g. getDataSourceToken()');
}

/** The storage's own waits are single Node timers (or SQLite's 32-bit busy timeout): at most 2^31 − 1 ms. */
function checkTimers(cfg: { busyTimeoutMs?: unknown; listenHealthCheckMs?: unknown; changePollMs?: unknown }): void {
  if (cfg.busyTimeoutMs !== undefined) assertMs('storage.busyTimeoutMs', cfg.busyTimeoutMs, TIMER_LIMIT);
  if (cfg.listenHealthCheckMs !== undefined) assertMs('storage.listenHealthCheckMs', cfg.listenHealthCheckMs, TIMER_LIMIT, 1);
  const poll = cfg.changePollMs;
  if (poll !== undefined && poll !== false && (typeof poll !== 'number' || !Number.isSafeInteger(poll) || poll < 0 || poll > TIMER_LIMIT.max)) {
    throw new InvalidOptionsError('storage.changePollMs', `expected false (off) or ${msOutOfRange(0, TIMER_LIMIT, poll).replace(/^expected /, '')}`);
  }
}
