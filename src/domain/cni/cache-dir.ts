/** libcni's default cache dir (the results under `results/`): tsnerd's, as ctr's and nerdctl's. No imports: the port holder reads it. */
export const DEFAULT_CNI_CACHE_DIR = '/var/lib/cni';
