#!/usr/bin/env node
import { main } from '../cli/map.js'

process.exitCode = await main(process.argv.slice(2))
