"""shipper.enrich"""
