/**
 * The check of a gateway's DNS port before the resolver takes it (podman#15452), on
 * loopback with this process as the "other DNS server": ports 46400-46401 of 127.0.0.1.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import { assertGatewayPortsFree } from '../../../src/adapters/dns/gateway-port.ts';

const FREE_PORT = 46400;
const TAKEN_PORT = 46401;

function bindUdp(address: string, port: number): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address, port }, () => resolve(s));
  });
}

describe('assertGatewayPortsFree', () => {
  const held: Socket[] = [];
  after(() => held.forEach((s) => s.close()));

  it('passes a free port, and leaves it free', async () => {
    await assertGatewayPortsFree([{ network: 'n', gateway: '127.0.0.1' }], FREE_PORT, async () => undefined);
    held.push(await bindUdp('127.0.0.1', FREE_PORT)); // the check let it go
  });

  it('names the address and the process when the wildcard address holds the port', async () => {
    held.push(await bindUdp('0.0.0.0', TAKEN_PORT));
    await assert.rejects(
      assertGatewayPortsFree([{ network: 'n1', gateway: '127.0.0.1' }], TAKEN_PORT, async () => undefined),
      (err: unknown) => {
        assert.ok(isTsnerdError(err, 'conflict'));
        assert.match(
          err.message,
          new RegExp(
            `^cannot serve DNS on network "n1": 127\\.0\\.0\\.1:${TAKEN_PORT} is taken \\(udp 0\\.0\\.0\\.0:${TAKEN_PORT} by \\S+ \\(pid ${process.pid}\\)\\); stop that server`,
          ),
        );
        assert.equal(err.message.split('\n').length, 1);
        return true;
      },
    );
  });

  it('passes when the holder is the resolver itself (a gateway it is about to close)', async () => {
    await assertGatewayPortsFree([{ network: 'n1', gateway: '127.0.0.1' }], TAKEN_PORT, async () => process.pid);
  });

  it('passes an address that is not up yet (the resolver retries it)', async () => {
    await assertGatewayPortsFree([{ network: 'n2', gateway: '192.0.2.1' }], FREE_PORT, async () => undefined);
  });
});
