-- Mobile service (issue 17): technicians who work on site from a van, service types done on site,
-- and where and when an on-site appointment happens. A mobile technician's van is a row of
-- service_bays (van_of names its technician): an on-site job holds the technician and their van,
-- so the pair-hold protocol and the exclusion constraints of 0002/0008 apply unchanged. Travel
-- between visits cannot be a constraint; the booking transaction checks it under the
-- technician's advisory lock (application.mobile_booking).
ALTER TABLE technicians ADD COLUMN IF NOT EXISTS mobile boolean NOT NULL DEFAULT false;
ALTER TABLE technicians ADD COLUMN IF NOT EXISTS base_lat double precision CHECK (base_lat BETWEEN -90 AND 90);
ALTER TABLE technicians ADD COLUMN IF NOT EXISTS base_lon double precision CHECK (base_lon BETWEEN -180 AND 180);
ALTER TABLE technicians ADD COLUMN IF NOT EXISTS van_equipment text[] NOT NULL DEFAULT '{}';
ALTER TABLE service_types ADD COLUMN IF NOT EXISTS on_site boolean NOT NULL DEFAULT false;
ALTER TABLE service_bays ADD COLUMN IF NOT EXISTS van_of text REFERENCES technicians (id);
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS site_lat double precision CHECK (site_lat BETWEEN -90 AND 90);
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS site_lon double precision CHECK (site_lon BETWEEN -180 AND 180);
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS arrival_start timestamptz;
ALTER TABLE appointments ADD COLUMN IF NOT EXISTS arrival_end timestamptz;
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_arrival_order;
ALTER TABLE appointments ADD CONSTRAINT appointments_arrival_order
    CHECK (arrival_end IS NULL OR arrival_start IS NULL OR arrival_end > arrival_start);
