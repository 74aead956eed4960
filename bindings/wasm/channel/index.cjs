// The channel for require(): the ES module itself (Node >= 20.19 loads an ES module through
// require, as the package's engines field asks), so one implementation serves both.
'use strict';
module.exports = require('./index.mjs');
