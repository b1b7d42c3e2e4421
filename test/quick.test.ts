import t from 'tap'
import { startSlapd } from './fixtures/slapd.js'
import { siteConfig, writeConfig } from './fixtures/config.js'
import { lookupHome } from '../src/lookup/lookup.js'

t.test('smoke', async (t) => {
  const slapd = await startSlapd(t, [{ uid: 'alice', home: '/import/nw-syd-efs1/1/alice' }, { uid: 'bob', home: '/import/kamen.cse.example.edu/2/bob' }])
  const { config } = writeConfig(t, siteConfig([slapd.url], '{dir}'))
  const a = await lookupHome(config, 'alice')
  t.equal(a.text, '-fstype=nfs4,nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport nw-syd-efs1:/1/alice')
  const b = await lookupHome(config, 'bob')
  t.equal(b.text, '-fstype=nfs,vers=4.2 kamen.cse.example.edu:/srv/homes/2/bob')
  t.equal(slapd.searches('uid=alice'), 1)
})
