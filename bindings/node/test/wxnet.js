'use strict';
/**
 * The wxnet package under test: this checkout (`..`) by default, or the installed
 * package named by $WXNET_NODE_PACKAGE (scripts/test-node.sh points it at the packed
 * tarball installed into an empty project).
 */
module.exports = require(process.env.WXNET_NODE_PACKAGE || '..');
