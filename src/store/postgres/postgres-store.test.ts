import { storeContract } from '../contract/store-contract.ts';
import { openTestPostgresStore } from './testing.ts';

storeContract('PostgreSQL', () => openTestPostgresStore());
