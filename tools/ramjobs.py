"""The job store of core/fax/job.py in RAM, for host tools and tests that drive jobs without a
flash (tools/faxdrive.py, host_tests/host/test_fax_props.py). The unit's store is
app/jobs.py JobStore; the board carries no store-less mode of Jobs.

Records are kept as the dicts Jobs saves; a document's page path is the path it came with
(nothing is moved); finished jobs are never pruned (a tool's run is short) and a boot finds
nothing reported in a ring it does not have.
"""


class RamStore:
    def __init__(self):
        self.recs = {}
        self.paths = {}

    def save(self, rec):
        self.recs[rec["id"]] = rec

    def get(self, job_id):
        return self.recs.get(job_id)

    def records(self):
        return iter(list(self.recs.values()))

    def remove(self, job_id, docs=0):
        self.drop_pages(job_id, docs)
        self.recs.pop(job_id, None)

    def adopt(self, job_id, pages):
        for n, (_kind, path) in enumerate(pages):
            self.paths[(job_id, n)] = path

    def page_path(self, job_id, n):
        return self.paths[(job_id, n)]

    def drop_pages(self, job_id, docs):
        for n in range(docs):
            self.paths.pop((job_id, n), None)

    def done_put(self, keep, fin, job_id, docs, ok, k=0):
        return None

    def rebuild(self, new):
        pass
