# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Backups that can be verified: archives with a manifest, Kea's leases (memfile and
PostgreSQL), Knot zone backups and restores."""
