// The WebSocket provider for require(): the ES module itself (Node >= 20.19 loads an ES module
// through require), so one implementation and one driver per Doc serve both.
'use strict';
module.exports = require('./websocket.mjs');
