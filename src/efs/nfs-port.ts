// EFS speaks NFS on 2049 alone. Only tests move it (EFS_HOME_TEST_TARGET_PORT),
// to reach a TLS server or a mount target stand-in on loopback.

export function efsNfsPort(): number {
  const port = Number(process.env.EFS_HOME_TEST_TARGET_PORT)
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : 2049
}
