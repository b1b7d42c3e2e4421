// node nfs-null-responder.mjs HOST:PORT: answers every RPC record it gets
// with an accepted, successful reply to the same xid, as an NFS server
// answers NULL; the cheapest possible server behind the TLS servers.
import { createServer } from 'node:net'

const [where] = process.argv.slice(2)
const [host, port] = [where.slice(0, where.lastIndexOf(':')), Number(where.slice(where.lastIndexOf(':') + 1))]
createServer((s) => {
  let pending = Buffer.alloc(0)
  s.on('data', (d) => {
    pending = Buffer.concat([pending, d])
    while (pending.length >= 8 && pending.length >= 4 + (pending.readUInt32BE(0) & 0x7fffffff)) {
      const reply = Buffer.alloc(28)
      for (const [i, w] of [0x80000018, pending.readUInt32BE(4), 1, 0, 0, 0, 0].entries()) reply.writeUInt32BE(w >>> 0, i * 4)
      s.write(reply)
      pending = pending.subarray(4 + (pending.readUInt32BE(0) & 0x7fffffff))
    }
  })
  s.on('error', () => s.destroy())
}).listen(port, host)
