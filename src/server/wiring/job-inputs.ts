import { foldVariables, variablesOf } from '../../environments/index.js';
import { JobInputsUnavailable, type JobInputSource } from '../../runs/index.js';
import { createSecretResolver, SecretResolutionError, type SecretBackends, type SecretStore } from '../../secrets/index.js';
import type { Store } from '../../store/index.js';

/**
 * The RunActors' JobInputSource over the store: each environment's variables with the run's
 * source's overrides, folded in the job's order (later wins), and the secrets its steps name from
 * the scopes bound to those environments, read and opened at every dispatch. The backends besides
 * the database (Vault) are read from the store at each dispatch that names secrets, their configs
 * opened then: one added or removed takes effect at the next dispatch, without a restart.
 */
export function jobInputSource(store: Store, secrets: SecretStore, backends?: Pick<SecretBackends, 'forDispatch'>): JobInputSource {
  const parts = { bindings: store.environmentBindings, secrets, scopes: store.sealedSecrets, environments: store.environments };
  return {
    async resolve(request) {
      const sets = await store.environmentVariables.forEnvironments(request.environmentIds, request.sourceId);
      const env = foldVariables(
        request.environmentIds.map((id) => {
          const set = sets.get(id);
          return set ? variablesOf(set.variables, set.overrides, request.sourceId) : {};
        }),
      );
      const resolver = createSecretResolver({ ...parts, backends: backends && request.secretNames.length > 0 ? await backends.forDispatch() : [] });
      try {
        return { env, secrets: await resolver.resolve(request.orgId, request.environmentIds, request.secretNames) };
      } catch (error) {
        // What is wrong with the secrets fails the job; the database failing under us is retried.
        throw error instanceof SecretResolutionError ? new JobInputsUnavailable(error.message) : error;
      }
    },
  };
}
