/** The overlay agent's files in its state dir: shared by the agent and its launcher (adapters/overlay/agent-process.ts). */
export const AGENT_PID_FILE = 'agent.pid';
export const AGENT_LOG_FILE = 'agent.log';
export const AGENT_LOCK_FILE = 'agent.lock';
/** Written by the agent's supervisor (supervise.pl) while it runs. */
export const SUPERVISOR_PID_FILE = 'supervisor.pid';
