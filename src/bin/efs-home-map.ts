#!/usr/bin/env node
import { main } from '../cli/map.js'

// Exit at once with the answer: a DNS query or socket that outlived the
// lookup's deadline must not keep automount (and the login) waiting.
process.exit(await main(process.argv.slice(2)))
