#!/usr/bin/env node
import { main } from '../cli/map-gen.js'

process.exitCode = await main(process.argv.slice(2))
