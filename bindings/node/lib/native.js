'use strict';
// The addon, built by build.js (`npm install`). $SONDE_NODE_ADDON names
// another build of it.
const path = require('path');

module.exports = require(process.env.SONDE_NODE_ADDON || path.join(__dirname, '..', 'build', 'sonde.node'));
