#!/usr/bin/env node
import { main } from '../cli/efs-home.js'

process.exitCode = await main(process.argv.slice(2))
